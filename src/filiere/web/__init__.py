"""filiere.web"""
