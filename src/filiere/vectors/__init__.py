"""filiere.vectors"""
