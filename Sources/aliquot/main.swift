print("aliquot")
