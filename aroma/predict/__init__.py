"""Prediction methods behind one interface (``base.Predictor``: fit, predict_proba, save, load), a registry by
name (``registry``), and predictors fit for users (``saved``)."""
