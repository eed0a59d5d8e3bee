"""filiere.scenario"""
