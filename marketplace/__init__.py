"""Lots, orders for the three kinds of buyer, payments, fulfilment, certificates and sourcing."""
