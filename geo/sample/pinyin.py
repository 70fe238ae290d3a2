"""Pinyin of the sample's place names, for their ``name:en`` tags.

The sample's names are built from a few dozen characters (surnames, landform words,
prefixes, the invented township stems and community names), so a table of exactly
those characters romanises every name without a dictionary package. Syllables are
joined as in Hanyu Pinyin place names ("张家湾" -> "Zhangjiawan"); 咀 reads *zui*, as
in Hubei's place names.
"""

from __future__ import annotations

from typing import Final

from geo.errors import SampleError

__all__ = ["PINYIN", "english_name", "romanize"]

_SYLLABLES: Final = (
    "张zhang 王wang 李li 刘liu 陈chen 杨yang 黄huang 赵zhao 周zhou 吴wu 徐xu 孙sun 胡hu "
    "朱zhu 高gao 林lin 何he 郭guo 马ma 罗luo 梁liang 宋song 郑zheng 谢xie 韩han 唐tang "
    "冯feng 董dong 程cheng 曹cao 袁yuan 邓deng 许xu 沈shen 曾zeng 彭peng 吕lü 蔡cai "
    "丁ding 魏wei 叶ye 余yu 潘pan 杜du 戴dai 夏xia 汪wang 田tian 任ren 姜jiang 范fan "
    "方fang 石shi 姚yao 谭tan 廖liao 邹zou 熊xiong 金jin 陆lu 郝hao 孔kong 白bai 毛mao "
    "邱qiu 江jiang 万wan 段duan 雷lei 钱qian 汤tang 易yi 龚gong 涂tu 柯ke 喻yu "
    "湾wan 冲chong 岗gang 畈fan 河he 咀zui 店dian 岭ling 垸yuan 塘tang 桥qiao 寨zhai "
    "集ji 庙miao 港gang 坡po 山shan 墩dun 园yuan 湖hu "
    "大da 小xiao 上shang 下xia 新xin 老lao 家jia "
    "松song 青qing 桃tao 源yuan 柳liu 梅mei 杉shan 云yun 竹zhu 溪xi 兰lan 枫feng "
    "槐huai 荫yin 芦lu 栗li "
    "华hua 建jian 设she 向xiang 阳yang 和he 平ping 胜sheng 利li 红hong 星xing"
)
#: Character -> toneless pinyin syllable, for every character of the sample's names.
PINYIN: Final[dict[str, str]] = {item[0]: item[1:] for item in _SYLLABLES.split()}

#: Name suffix -> English word after the romanised stem.
_SUFFIXES: Final = (("社区", "Community"), ("村", "Village"), ("镇", "Town"))


def romanize(text: str) -> str:
    """Return the capitalised pinyin of ``text`` ("张家湾" -> "Zhangjiawan").

    Raises
    ------
    SampleError
        If ``text`` holds a character the table lacks (a name the generator cannot make).
    """
    missing = sorted({c for c in text if c not in PINYIN})
    if missing:
        msg = f"no pinyin for {''.join(missing)!r} in {text!r}; add it to geo.sample.pinyin"
        raise SampleError(msg)
    return "".join(PINYIN[c] for c in text).capitalize()


def english_name(name: str) -> str:
    """Return the English name of a sample place: "张家湾村" -> "Zhangjiawan Village"."""
    for suffix, word in _SUFFIXES:
        if name.endswith(suffix):
            return f"{romanize(name.removesuffix(suffix))} {word}"
    return romanize(name)
