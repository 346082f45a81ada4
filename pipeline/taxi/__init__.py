"""The bundled sample: Chicago taxi trips with one model that uses every kind of head."""
