"""filiere.rules"""
