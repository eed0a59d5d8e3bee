"""filiere.api"""
