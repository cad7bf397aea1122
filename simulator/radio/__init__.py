"""Radio: geometry in each satellite's antenna frame, steering vectors, statistical CSI, TR 38.811 extras."""
