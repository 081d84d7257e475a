"""The tests' one set of helpers: waiting for a condition with a deadline (`wait`), holding a loopback port for a
server a test starts (`ports`), starting, watching and killing processes and the lab (`processes`), the App's RSA
key (`keys`), and settings built from the example file or in memory (`settings`)."""
