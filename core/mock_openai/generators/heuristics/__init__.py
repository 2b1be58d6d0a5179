"""The mock's stand-in models: deterministic text → vectors, CV → JSON Resume, prompt → explanation."""
