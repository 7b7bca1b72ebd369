// The Spectra module; its parts arrive in their own files.
