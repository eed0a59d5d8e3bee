"""filiere.io"""
