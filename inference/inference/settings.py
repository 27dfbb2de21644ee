from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration from the environment (prefix INFERENCE_)."""

    model_config = SettingsConfigDict(env_prefix="INFERENCE_")

    mlflow_tracking_uri: str = "http://mlflow:5000"
    # Registered model names served by default, one per dataset.
    models: str = "penguins-classifier,covertype-classifier"

    @property
    def model_names(self) -> list[str]:
        return [name.strip() for name in self.models.split(",") if name.strip()]
