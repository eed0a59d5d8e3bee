"""filiere.vectors.art"""
