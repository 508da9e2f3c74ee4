# Production image of the Lockstep API server and its schema job.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml ./
COPY gameserver ./gameserver
COPY games ./games
COPY chat ./chat
COPY players ./players
COPY storage ./storage
COPY locking ./locking
COPY ios_client_stub ./ios_client_stub
COPY manage.py ./
RUN pip install --no-cache-dir . && useradd --system --uid 10001 lockstep
USER lockstep

EXPOSE 8000
CMD ["gunicorn", "-c", "gameserver/gunicorn_conf.py"]
