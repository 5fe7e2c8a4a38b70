__all__ = ["LeNet"]
