# syntax=docker/dockerfile:1
# The comments service: python -m service serve | migrate | seed | ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app

# Build from a scratch folder that is removed afterwards: the runtime working directory must not hold a
# ./service source tree, or `python -m service` would import it instead of the installed package (which carries
# the bundled migrations and seeds under service/_bundled).
WORKDIR /tmp/src
COPY pyproject.toml README.md ./
COPY service ./service
COPY migrations ./migrations
COPY seeds ./seeds
RUN pip install . \
    && cd / && rm -rf /tmp/src

WORKDIR /app
RUN mkdir -p /app/var && chown -R app:app /app
USER app

ENV COMMENTS_HOST=0.0.0.0 \
    COMMENTS_PORT=8080
EXPOSE 8080

CMD ["python", "-m", "service", "serve"]
