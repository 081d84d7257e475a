"""`verify-staging register`: creates the GitHub App from app.yml through GitHub's App-manifest flow."""
