"""filiere.cases"""
