"""filiere.graph"""
