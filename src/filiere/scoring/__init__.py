"""filiere.scoring"""
