"""Data cards after *Datasheets for Datasets*, computed from a labels table."""
