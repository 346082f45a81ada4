"""kubeflow"""
