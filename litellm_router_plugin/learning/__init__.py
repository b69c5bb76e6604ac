"""Learning from a deployment's own traffic: outcome records, training and comparison of traffic models.

Training-side code (numpy at train time); the model it trains serves from ``classify/traffic.py``.
"""
