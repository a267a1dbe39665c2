// join: being written
