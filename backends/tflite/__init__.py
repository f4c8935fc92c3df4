"""TFLite (LiteRT) via litert-torch, the maintained successor of ai-edge-torch: fp32 and int8."""
