// The Control module; its parts arrive in their own files.
