FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY governance governance
COPY registry registry
COPY audit audit
COPY manage.py ./
RUN pip install --no-cache-dir . && useradd --system --home /srv/governance governance \
    && mkdir -p /srv/governance && chown governance /srv/governance
USER governance
EXPOSE 8000
