__all__ = ["Constraints", "Loss", "Optimizers"]
