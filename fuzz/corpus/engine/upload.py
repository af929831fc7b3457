"""Upload a model (demo file for hfleaks; the token is synthetic)."""
from huggingface_hub import HfApi, hf_hub_download

ORG_TOKEN = "api_org_FakeDemoJRtagIdoPSxghGqtrRGIUrFfKk"


def main():
    api = HfApi(token="hf_YOUR_TOKEN_HERE")  # a placeholder: not reported
    api.upload_folder(folder_path="out", repo_id="demo/model")
    hf_hub_download("demo/model", "config.json")


if __name__ == "__main__":
    main()
