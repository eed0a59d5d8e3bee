"""filiere.report"""
