import Autodiff
print("alambique")
