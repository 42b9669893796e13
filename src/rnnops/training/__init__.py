"""Training: the LightningModule, regularizers, callbacks and the one `fit` that the train stage
and every sweep trial share."""
