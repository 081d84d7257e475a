# verify-staging: the GitHub App (`verify-staging serve`) in a small image.
#   docker build -t verify-staging .
#   docker run -p 8080:8080 -v verify-staging-data:/var/lib/verify-staging \
#     -v "$PWD/settings.yml:/etc/verify-staging/settings.yml:ro" --env-file verify-staging.env verify-staging
# Secrets (GITHUB_APP_ID, GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, GITHUB_WEBHOOK_SECRET, JIRA_*, SSH_*) come
# from the environment or mounted files at run time; nothing secret is copied into the image.

FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/verify-staging
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
# Dependencies first (exactly the locked versions), so code changes reuse this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY bot ./bot
COPY handlers ./handlers
COPY scenarios ./scenarios
# The project itself, installed into the environment (not linked to /src), so the runtime stage needs only it.
RUN uv sync --locked --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/verify-staging --create-home verify-staging
COPY --from=build /opt/verify-staging /opt/verify-staging
ENV PATH=/opt/verify-staging/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    VERIFY_STAGING_SETTINGS=/etc/verify-staging/settings.yml
# The SQLite store (deliveries, verifications, the undo journal): keep it on a volume, and run one instance only.
VOLUME ["/var/lib/verify-staging"]
USER 10001:10001
WORKDIR /var/lib/verify-staging
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
# On SIGTERM the bot lets a running verification restore what it stopped before it exits (up to ~150 s): give it
# that long (`docker stop -t 180`, compose `stop_grace_period: 180s`; the Kubernetes manifest sets 180 s).
CMD ["verify-staging", "serve", "--host", "0.0.0.0", "--port", "8080"]
