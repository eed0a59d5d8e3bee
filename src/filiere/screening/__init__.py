"""filiere.screening"""
