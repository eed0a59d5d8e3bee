"""filiere.trace"""
