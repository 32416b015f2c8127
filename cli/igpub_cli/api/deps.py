"""What every part of the programs' API works with: the deployment's repositories and execution names."""

from __future__ import annotations

from dataclasses import dataclass

from igpub.repositories.accounts import AccountRepository
from igpub.repositories.posts import PostRepository
from igpub_cli.deployment import Deployment


@dataclass(frozen=True)
class Submission:
    post_id: str
    execution_arn: str


def accounts_repo(dep: Deployment) -> AccountRepository:
    return AccountRepository(dep.output("AccountsTableName"), table=dep.table("AccountsTableName"))


def posts_repo(dep: Deployment) -> PostRepository:
    return PostRepository(dep.output("PostsTableName"), table=dep.table("PostsTableName"))


def execution_arn(dep: Deployment, name: str) -> str:
    return dep.output("PublishStateMachineArn").replace(":stateMachine:", ":execution:") + f":{name}"
