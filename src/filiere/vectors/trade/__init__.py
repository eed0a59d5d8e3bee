"""filiere.vectors.trade"""
