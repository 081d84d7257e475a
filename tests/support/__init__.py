"""The tests' one set of helpers: waiting for a condition with a deadline (`wait`), holding a loopback port for a
server a test starts (`ports`), starting, watching and killing processes and the lab (`processes`), the App's RSA
key (`keys`), settings built from the example file or in memory (`settings`), GitHub's captured webhook payloads
pointed at our repository (`payloads`), a verification as the engine leaves it (`verifications`), matching
texts of `bot/texts` whose fields a test cannot know (`texts`), and a throwaway PostgreSQL with a fresh database per
test (`postgres`)."""
