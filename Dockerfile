# The web / worker / beat image used by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY recruit ./recruit
COPY core ./core
COPY manage.py ./
RUN pip install . && useradd --create-home --uid 1000 recruit && mkdir -p /app/.data /app/.mock_batches \
    && chown -R recruit /app
USER recruit

EXPOSE 8000
CMD ["gunicorn", "recruit.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
