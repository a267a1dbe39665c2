// linalg: being written
