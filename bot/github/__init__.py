"""GitHub for the bot: the App's REST client, its transport (auth, retries, rate limits) and typed views of the
objects it reads."""
