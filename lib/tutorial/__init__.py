"""The tutorial's network: settings, the seven stages, gradients by hand and by autograd, its graph."""
