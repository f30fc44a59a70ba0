"""Serial and lot numbers: generation templates, check digits and scanning validation."""
