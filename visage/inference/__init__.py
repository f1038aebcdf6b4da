"""Inference: face detection, cropping, batched prediction over eager/TorchScript/ONNX models, export, JSON API."""
