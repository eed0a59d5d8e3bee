"""filiere.realtime"""
