class BaseLayer:
    """What every layer shares: not trainable, and in the training phase until told otherwise."""

    def __init__(self):
        self.trainable = False
        self.testing_phase = False
