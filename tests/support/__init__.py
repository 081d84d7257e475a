"""The tests' one set of helpers: waiting for a condition with a deadline (`wait`), holding a loopback port for a
server a test starts (`ports`), and starting, watching and killing processes (`processes`)."""
