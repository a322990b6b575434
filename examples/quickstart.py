"""Quickstart: connect, look around, upload three images, page through assets, annotate.

python examples/quickstart.py          # a local emulator (needs nexus-async[emulator])
NEXUS_SECRET_KEY=... NEXUS_PROJECT_ID=proj_... python examples/quickstart.py
"""

from __future__ import annotations

import asyncio

from _common import connect, png_image


async def main() -> None:
    async with connect() as (client, project):
        workspace = await client.get_info()
        print(f"workspace {workspace.name} ({workspace.id})")
        for each in await client.list_projects():
            print(f"  project {each.id}: {each['name']}")

        # Upload three images from memory; leaving the block waits until they are ingested.
        async with project.assets.create_upload_session(groups=["quickstart"]) as session:
            for i in range(3):
                await session.add_bytes(png_image(seed=i), f"quickstart-{i}.png")

        # One page at a time, or every asset with `async for`.
        page = await project.assets.list({"limit": 2})
        print(f"first page: {[asset.filename for asset in page.data]}, next: {page.next_page}")
        names = [asset.filename async for asset in project.assets.iter()]
        print(f"{len(names)} assets in {project.id}")

        asset = await project.assets.get("quickstart-0.png")
        await project.assets.update(asset.id, {"custom_metadata": {"camera": "front"}})
        annotation = await project.annotations.create(
            {
                "asset_id": asset.id,
                "tag": "boat",
                "bound_type": "Rectangle",
                "bound": [[0.1, 0.1], [0.1, 0.5], [0.5, 0.5], [0.5, 0.1]],
            }
        )
        print(f"annotated {asset.filename}: {annotation.tag} ({annotation.id})")


if __name__ == "__main__":
    asyncio.run(main())
