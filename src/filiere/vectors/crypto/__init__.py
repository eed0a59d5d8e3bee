"""filiere.vectors.crypto"""
